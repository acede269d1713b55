"""`ceval`: the one command line for the server, the kiosk and the demo. It imports the server or the kiosk
only in the subcommands that run them, so a Pi needs no server packages and a server no Kivy."""
