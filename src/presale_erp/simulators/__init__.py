"""Local stand-ins for the platforms: payloads in each platform's real format, served over HTTP."""
