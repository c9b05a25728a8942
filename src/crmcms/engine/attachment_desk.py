"""Files attached to appeals: attaching, listing, opening, removing, collecting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import BinaryIO

from crmcms.engine import attachments as files
from crmcms.engine.action_runner import Acting, ActionRunner, utc_now
from crmcms.model import Attachment

__all__ = ["AttachmentDesk"]


class AttachmentDesk(ActionRunner):
    """The engine's attachment actions (see :mod:`crmcms.engine.attachments`)."""

    def attach(
        self,
        appeal_id: int,
        operator: Acting,
        name: str,
        content: BinaryIO | Iterable[bytes],
        *,
        media_type: str | None = None,
    ) -> Attachment:
        """Attach a file to an open appeal: ``content`` (a binary file or byte chunks) is
        streamed to the file store, never held whole. The name is made safe (no path, no
        control characters); ``media_type`` (guessed from the name if not given) must match
        the content's signature where it has one. A file over the topic's limit or
        :attr:`Limits.attachment_size` is refused as soon as it passes it, storing nothing."""
        who, _ = self._acting(operator)
        return files.attach(self, who, appeal_id, name, content, media_type)

    def attachments(self, appeal_id: int, *, operator: Acting | None = None) -> list[Attachment]:
        """The appeal's attachments, oldest first."""
        return files.list_attachments(self, self.principal(operator), appeal_id)

    def open_attachment(
        self, attachment_id: int, *, operator: Acting | None = None
    ) -> tuple[Attachment, BinaryIO]:
        """An attachment and its content, as a binary file the caller reads and closes."""
        return files.open_attachment(self, self.principal(operator), attachment_id)

    def remove_attachment(self, attachment_id: int, operator: Acting) -> Attachment:
        """Remove an attachment: the operator who added it may (with ``handle``), anybody
        else needs ``manage_attachments``. History keeps the name."""
        who, _ = self._acting(operator)
        return files.remove_attachment(self, who, attachment_id)

    def collect_files(
        self,
        *,
        grace: timedelta = timedelta(hours=1),
        now: datetime | None = None,
        operator: Acting | None = None,
    ) -> list[str]:
        """Delete the stored contents no attachment holds any more, left alone for
        ``grace`` (so uploads under way keep theirs); the SHA-256 of each deleted. Ages are
        the file store's, so ``now`` is the wall clock's unless given."""
        when = now if now is not None else utc_now()
        return files.collect_files(self, self.principal(operator), grace, when)
