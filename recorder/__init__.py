"""Calls, recordings and the phone-reception log (电话接待记录本): schema and storage."""
