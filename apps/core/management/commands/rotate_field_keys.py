"""Re-encrypt every EncryptedTextField value under the current (first) key.

    python manage.py rotate_field_keys [--dry-run] [--batch-size 500]

Procedure (docs/operations.md): put the new key FIRST in FIELD_ENCRYPTION_KEYS, keep the old
ones after it, restart, run this command, check it reports nothing left under old keys, then
remove the old keys. Idempotent: values already under the current key are left alone; running
it again re-encrypts nothing. Each batch is one transaction and each row is updated only if its
stored value is still the one that was read (a concurrent edit is never overwritten).
"""

from __future__ import annotations

from collections import Counter

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast

from apps.core import crypto
from apps.core.fields import EncryptedTextField


def encrypted_fields():
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


class Command(BaseCommand):
    help = "Re-encrypt personal data under the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="count values per key id; change nothing"
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run: bool, batch_size: int, **options):
        current = crypto.current_key_id()
        self.stdout.write(f"Current key: {current}{' (dry run)' if dry_run else ''}")
        totals: Counter = Counter()
        for model, field in encrypted_fields():
            found, rotated, failed = self._rotate(model, field, current, dry_run, batch_size)
            label = f"{model._meta.label}.{field.name}"
            per_key = ", ".join(f"{kid}: {n}" for kid, n in sorted(found.items())) or "no values"
            self.stdout.write(f"  {label}: {per_key}; re-encrypted {rotated}; failed {failed}")
            totals.update(found)
            totals["__rotated"] += rotated
            totals["__failed"] += failed
        left = sum(n for kid, n in totals.items() if not kid.startswith("__") and kid != current)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"Done: {verb} {left if dry_run else totals['__rotated']} value(s); "
            f"{totals['__failed']} could not be decrypted."
        )
        if not dry_run and totals["__rotated"]:
            from apps.core.audit import audit_log
            from apps.core.models import AuditAction

            with transaction.atomic():
                audit_log(
                    actor=None,
                    action=AuditAction.UPDATE,
                    verb="rotate_field_keys",
                    object_type="core.fieldkeys",
                    object_repr=f"re-encrypted under {current}",
                    changes={"rotated": totals["__rotated"]},
                )
        if totals["__failed"]:
            self.stderr.write(
                "Some values could not be decrypted: is every old key in FIELD_ENCRYPTION_KEYS?"
            )

    def _rotate(self, model, field, current: str, dry_run: bool, batch_size: int):
        found: Counter = Counter()
        rotated = failed = 0
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        pk_column = connection.ops.quote_name(model._meta.pk.column)
        last_pk = None
        base = model._base_manager.exclude(**{f"{field.name}__isnull": True}).order_by("pk")
        while True:
            qs = base if last_pk is None else base.filter(pk__gt=last_pk)
            rows = list(
                qs.annotate(_raw=Cast(F(field.name), output_field=TextField())).values_list(
                    "pk", "_raw"
                )[:batch_size]
            )
            if not rows:
                break
            last_pk = rows[-1][0]
            updates = []
            for pk, raw in rows:
                if not raw:
                    continue
                try:
                    kid = crypto.key_id_of(raw)
                    if kid == current:
                        found[kid] += 1
                        continue
                    plain = crypto.decrypt(raw)
                except (crypto.DecryptionError, IndexError):
                    found["(unreadable)"] += 1
                    failed += 1
                    continue
                found[kid] += 1
                updates.append((crypto.encrypt(plain), pk, raw))
            if updates and not dry_run:
                with transaction.atomic(), connection.cursor() as cursor:
                    for new, pk, old in updates:
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s "
                            f"WHERE {pk_column} = %s AND {column} = %s",
                            [new, pk, old],
                        )
                        rotated += cursor.rowcount
        return found, rotated, failed
