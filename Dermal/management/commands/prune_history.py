"""`manage.py prune_history`: remove the analyses older than DERMAI_HISTORY_DAYS (the service also does it by
itself now and then)."""
from django.core.management.base import BaseCommand

from Dermal.selectors import expired_analyses, history_cutoff
from Dermal.services import expired_phrase, prune_history


class Command(BaseCommand):
    help = ("Remove the analyses recorded more than DERMAI_HISTORY_DAYS days ago from the history (0 keeps them "
            "for ever).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say how many would be removed, remove none")

    def handle(self, *args, **options):
        cutoff = history_cutoff()
        if cutoff is None:
            self.stdout.write("DERMAI_HISTORY_DAYS=0: the history is kept for ever, nothing removed")
        elif options["dry_run"]:
            self.stdout.write(f"would remove {expired_phrase(expired_analyses(cutoff).count(), cutoff)}")
        else:
            self.stdout.write(f"removed {expired_phrase(prune_history(cutoff), cutoff)}")
