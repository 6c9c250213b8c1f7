"""Signals other apps listen to when the tree changes (sent inside the service's transaction).

- `org_merged(sender=Org, org=..., into=..., on=..., actor=...)`: move your open items
  (pending transfers, drafts, reminders...) from `org` to `into`. `Member.branch` and
  `Member.party_group` are moved by the organizations service itself.
- treebeard's `path_updated(sender=Org, old_path=..., new_path=...)` fires when a subtree moves;
  apps that denormalise `path` into rollup rows rewrite them there.
"""

from django.dispatch import Signal

org_merged = Signal()
