"""hotline admin"""

from __future__ import annotations

import argparse
import logging

from hotline.app import App

READY = True
NAME = "admin"
HELP = "serve the web desk for clerks and supervisors"
logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="where to serve (default from settings)"
    )
    parser.add_argument("--dev", action="store_true", help="Flask development server with reloader")


def run(args: argparse.Namespace, app: App) -> int:
    import waitress

    from admin.app import create_app

    app.ready_database()  # refuses an outdated schema with a one-line error
    web = create_app(app.settings, app.sessions, lambda: app.content)
    from hotline.ops import readiness

    web.extensions["readiness"] = readiness(app, "admin")  # with the queue (issue 23)
    host, _, port = app.settings.admin.listen.rpartition(":")
    host = host.strip("[]")
    if args.dev:
        web.run(host=host, port=int(port), debug=True, use_reloader=True)
        return 0
    logger.info("web desk on http://%s:%s/", host, port)
    print(f"web desk on http://{app.settings.admin.listen}/")
    # Waitress drops X-Forwarded-For unless told otherwise; admin/proxies.py reads it
    # from the configured proxies only (waitress itself trusts one address, not networks).
    waitress.serve(
        web,
        host=host,
        port=int(port),
        # Each open live desk holds a thread for its event stream (docs/live-desk.md).
        threads=32,
        ident="hotline",
        clear_untrusted_proxy_headers=not app.settings.admin.trusted_proxies,
    )
    return 0
