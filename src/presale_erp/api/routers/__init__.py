"""One router per business area."""
