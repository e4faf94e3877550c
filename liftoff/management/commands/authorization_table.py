from django.core.management.base import BaseCommand

from liftoff.authorization import authorization_table


class Command(BaseCommand):
    help = "Print who may use each URL, as the views declare it."

    def handle(self, *args, **options):
        rows = authorization_table()
        width = max(len(route) for route, _, _ in rows)
        for route, name, who in rows:
            self.stdout.write(f"{route:<{width}}  {who or 'UNDECLARED'}  [{name}]")
