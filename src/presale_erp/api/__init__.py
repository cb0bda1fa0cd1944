"""HTTP API: FastAPI app factory, one router per business area, auth and problem details."""
