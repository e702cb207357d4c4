"""GET /api/v1/health/: liveness plus database reachability."""

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tickerwatch import __version__
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import create_app, lambda_handler

get_settings()


class HealthOut(BaseModel):
    status: str
    database: str
    version: str


app = create_app("tickerwatch health")


@app.get("/api/v1/health/", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health() -> JSONResponse:
    reachable = get_database().ping()
    body = HealthOut(
        status="ok" if reachable else "degraded",
        database="reachable" if reachable else "unreachable",
        version=__version__,
    )
    return JSONResponse(body.model_dump(), status_code=200 if reachable else 503)


handler = lambda_handler(app)
