"""`manage.py dermai_check`: is this deployment able to serve? The same checks as /health/, from a shell."""
from django.core.management.base import BaseCommand, CommandError

from Dermal.inference.bundle import checked_bundle
from Dermal.selectors import health_problems


class Command(BaseCommand):
    help = ("Verify the serving bundle (sizes and SHA-256), the engine setting and the database, "
            "without loading the model.")

    def handle(self, *args, **options):
        problems = health_problems()
        if problems:
            raise CommandError("\n".join(problems))
        manifest, precision, backbone = checked_bundle()
        self.stdout.write(self.style.SUCCESS(
            f"ok: {len(manifest['classes'])} classes, {precision} backbone {backbone}, database answers"))
