"""GET /api/v1/health/: liveness plus database reachability."""

from fastapi.responses import JSONResponse

from tickerwatch import __version__
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import create_app, lambda_handler

get_settings()

app = create_app("tickerwatch health")


@app.get("/api/v1/health/")
def health() -> JSONResponse:
    reachable = get_database().ping()
    body = {
        "status": "ok" if reachable else "degraded",
        "database": "reachable" if reachable else "unreachable",
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if reachable else 503)


handler = lambda_handler(app)
