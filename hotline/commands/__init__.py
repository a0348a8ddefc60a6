"""One module per subcommand: NAME, HELP, add_arguments(parser), run(args, app).

Modules import nothing heavy at the top, so `hotline --help` stays fast.
"""

from hotline.commands import (
    admin,
    agent,
    check_greeting,
    classify,
    db,
    demo,
    ingest,
    matters,
    models,
    recordings,
    run,
    users,
    worker,
)

COMMANDS = (
    run,
    agent,
    admin,
    worker,
    demo,
    ingest,
    classify,
    check_greeting,
    models,
    recordings,
    db,
    users,
    matters,
)
