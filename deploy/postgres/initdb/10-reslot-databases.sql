-- Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d).
-- POSTGRES_DB already created reslot_scheduler; the notifier keeps its own database so
-- its dedupe store and the scheduler's state/outbox can be backed up and moved apart.
CREATE DATABASE reslot_notifier;
