"""Reslot's web front: the status page and API on FastAPI, reading the scheduler's store.

It never decides and never imports the solver: it reads the read model (readmodel.py) and,
later, publishes replies. `create_app` builds the front, `probe_app` the probes of a
service that has no front (the notifier).
"""
