"""Running an installation: backup and restore, and moving the database to PostgreSQL."""
