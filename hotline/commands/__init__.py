"""One module per subcommand (listed in hotline.cli.COMMANDS): NAME, HELP, add_arguments(parser), run(args, app).

Modules import nothing heavy at the top, so `hotline --help` stays fast.
"""
