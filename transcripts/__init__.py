"""Audio to text (Vosk, offline) and text to reception-log fields."""
