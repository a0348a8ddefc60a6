"""hotline: an offline phone agent and phone-reception log for a property service desk.

This package holds only the command line and the composition root; the work
is done in ivr (SIP and audio), recorder (calls and the log), transcripts
(speech to text to log fields) and admin (the web desk).
"""

__version__ = "0.1.0"
