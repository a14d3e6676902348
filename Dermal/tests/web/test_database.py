"""The database the suite runs on is the one DATABASE_URL names, and the models match the migrations."""
import os

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_runs_on_the_database_url_backend():
    url = os.environ.get("DATABASE_URL", "")
    assert connection.vendor == ("postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite")


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
