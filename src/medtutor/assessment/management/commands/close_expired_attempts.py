"""`manage.py close_expired_attempts`: submit every attempt whose deadline has passed (for cron)."""

from django.core.management.base import BaseCommand

from medtutor.assessment.services import close_expired


class Command(BaseCommand):
    help = "Submit every exam attempt whose deadline has passed."

    def handle(self, *args, **options):
        closed = close_expired()
        self.stdout.write(f"closed {closed} expired attempt{'s' if closed != 1 else ''}")
