-- Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
-- Rasa's SQL tracker store lives in its own database beside the api's, so the two
-- schemas (Rasa's `events` table, the api's Alembic-managed tables) never meet.
CREATE DATABASE rasa OWNER app;
