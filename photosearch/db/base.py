"""Django backend for the embedded PostgreSQL: the stock backend, with the server started (and its host and port
learnt) on the first connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from django.db.backends.postgresql import base

from photosearch.embedded_db import create_database, embedded_server


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        server = embedded_server(
            Path(self.settings_dict["EMBEDDED_DATA_DIR"]), self.settings_dict.get("EMBEDDED_SERVER_SETTINGS")
        )
        params = super().get_connection_params()
        params.update(host=server.socket_dir, port=server.port, user=server.user)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any]
        try:
            connection = super().get_new_connection(conn_params)
            return connection
        except psycopg.OperationalError as exc:
            # First run on a fresh data dir: the server exists but our database does not yet.
            if "does not exist" not in str(exc) or conn_params.get("dbname") in (None, "postgres"):
                raise
            server = embedded_server(
                Path(self.settings_dict["EMBEDDED_DATA_DIR"]), self.settings_dict.get("EMBEDDED_SERVER_SETTINGS")
            )
            create_database(server, conn_params["dbname"])
            connection = super().get_new_connection(conn_params)
            return connection
