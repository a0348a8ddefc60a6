"""SIP and audio: registering, ringing, answering, playing prompts and receiving audio."""
