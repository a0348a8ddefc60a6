"""One audit row per playback of a recording, and per look at its waveform (保密制度).

What counts, and why it is done this way:

* The entry page's players say `preload="none"`: showing a page reads no audio, so a
  page view is not taken for a listen. (With `preload="metadata"` every view fetched
  the file without a Range header and was audited as a playback, even when nobody
  pressed play and even when the read failed.)
* Every read of the audio that is served (200 or 206) is a listen or a download,
  whatever its Range header says: none, `bytes=0-`, `Bytes=00-`, `bytes= 0-`,
  `bytes=1-` or `bytes=100-200`. Deciding from the Range header cannot work: the
  client chooses it freely (the old check audited only `bytes=0-` and no header, so
  `bytes=00-` took every byte unaudited). HEAD and 304 Not Modified send no audio.
* One playback is several requests: the start, a request per seek, another after a
  pause. Reads of the same recording by the same user within WINDOW of the audited
  one are that same playback, so they add no row; a read after WINDOW is a new
  playback. The state is the audit table itself (the user's last row for that action
  and target), so it holds across restarts and across the server's threads and
  processes; a lock makes the check and the insert one step within a process.
* A read that fails (no such recording, the file gone, an unsatisfiable range) raises
  before `record_read` is reached: nothing is audited as a playback.
* Why not a "play" event posted by the player: a download with curl, or the browser's
  "save audio as", posts nothing, and a script can leave it out; what the 保密制度
  cares about is the audio leaving the server.
* The waveform (peaks.json) shows the call's loudness, not its words, and is drawn on
  every view of the page: it is audited under its own action, "waveform",
  deduplicated the same way, and never counted as a playback.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask, Response, current_app, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin import audit
from admin.db import now
from recorder.models import AuditEvent, Recording

#: Reads of one recording by one user this close to the audited one are one playback.
WINDOW = timedelta(minutes=10)
PLAYBACK = "playback"
WAVEFORM = "waveform"
#: Statuses that carry the recording's bytes (or its waveform) to the client.
SERVED = (200, 206)


def init_app(web: Flask) -> None:
    web.extensions["playback_lock"] = threading.Lock()


def target(recording: Recording) -> str:
    return f"recording:{recording.id}"


def record_read(session: Session, action: str, recording: Recording, response: Response) -> bool:
    """Audit a served read unless it belongs to a playback already audited; commits.

    True when a row was added.
    """
    if request.method == "HEAD" or response.status_code not in SERVED:
        return False
    lock: threading.Lock = current_app.extensions["playback_lock"]
    with lock:
        since = now() - WINDOW
        seen = session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.user_id == current_user.id,
                AuditEvent.action == action,
                AuditEvent.target == target(recording),
                AuditEvent.at >= since,
            )
            .limit(1)
        )
        if seen is not None:
            return False
        audit.record(session, action, target(recording), call_pk=recording.call_pk)
        session.commit()
    return True
