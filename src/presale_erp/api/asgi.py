"""ASGI entry point for uvicorn (and any other ASGI server): `presale_erp.api.asgi:app`."""

from presale_erp.api.app import create_app

app = create_app()
