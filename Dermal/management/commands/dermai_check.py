"""`manage.py dermai_check`: is this deployment able to serve? The same checks as /health/, from a shell."""
from django.core.management.base import BaseCommand, CommandError

from Dermal.selectors import health_problems, serving_bundle


class Command(BaseCommand):
    help = ("Verify the serving bundle (sizes and SHA-256), the engine setting and the database, "
            "without loading the model.")

    def handle(self, *args, **options):
        problems = health_problems()
        if problems:
            raise CommandError("\n".join(problems))
        manifest, precision, backbone = serving_bundle()
        self.stdout.write(self.style.SUCCESS(
            f"ok: {len(manifest['classes'])} classes, {precision} backbone {backbone}, database answers"))
