"""The web client as it is served: by `tickerwatch serve` locally, by S3 and CloudFront in AWS."""

from __future__ import annotations

import http.client
from pathlib import Path

import httpx
import pytest
import yaml
from apigw import LocalServer
from test_sam_build import load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    (dist / "index.html").write_text("<!doctype html><title>client</title>")
    (dist / "assets").mkdir()
    (dist / "assets" / "index-abc123.js").write_text("console.log('client')")
    (dist / "config.json").write_text('{"apiUrl": ""}')
    server = LocalServer("--no-jobs", env={"TICKERWATCH_WEB_DIR": str(dist)}).wait_ready()
    yield server
    server.stop()


def test_client_routes_get_index_html_and_files_are_served_as_they_are(web_server):
    for path in ("/", "/alerts", "/alerts/12/edit", "/predictions/3"):
        reply = httpx.get(web_server.url + path)
        assert reply.status_code == 200, path
        assert "<title>client</title>" in reply.text
        assert reply.headers["cache-control"] == "no-cache"
    asset = httpx.get(web_server.url + "/assets/index-abc123.js")
    assert asset.text == "console.log('client')"
    assert "immutable" in asset.headers["cache-control"]
    assert httpx.get(web_server.url + "/config.json").json() == {"apiUrl": ""}


def test_missing_files_and_the_api_are_not_the_client(web_server):
    missing = httpx.get(web_server.url + "/assets/gone-123.js")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    # Raw request targets (http.client sends them as written): encoded slashes decode to "../".
    connection = http.client.HTTPConnection("127.0.0.1", web_server.port)
    for target in ("/" + "..%2f" * 20 + "etc%2fpasswd", "/" + "%2e%2e%2f" * 20 + "etc/passwd"):
        connection.request("GET", target)
        reply = connection.getresponse()
        body = reply.read().decode("latin-1")
        assert "root:" not in body and "<title>client</title>" in body, target
    api = httpx.get(web_server.url + "/api/v1/nothing-here/")
    assert api.status_code == 404 and api.json()["detail"]
    assert httpx.get(web_server.url + "/api/v1/register/").status_code == 405  # still the API's answer
    assert httpx.get(web_server.url + "/docs").status_code == 200
    assert httpx.post(web_server.url + "/alerts").status_code in (404, 405)  # only GET and HEAD are the client's


def test_an_unbuilt_client_says_how_to_build_it(tmp_path):
    server = LocalServer("--no-jobs", env={"TICKERWATCH_WEB_DIR": str(tmp_path / "absent")}).wait_ready()
    try:
        reply = httpx.get(server.url + "/")
        assert reply.status_code == 404
        assert "make run" in reply.json()["detail"]
    finally:
        server.stop()


def test_template_hosts_the_client_privately_behind_cloudfront():
    resources = load_template(ROOT / "template.yaml")["Resources"]
    bucket = resources["WebBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert "WebsiteConfiguration" not in bucket  # read through CloudFront only, never as a website

    config = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"GetAtt": "WebBucket.RegionalDomainName"}
    assert origin["OriginAccessControlId"] == {"GetAtt": "WebOriginAccessControl.Id"}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    behaviors = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    assert all(b["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only") for b in behaviors)
    fallback = {e["ErrorCode"]: (e["ResponseCode"], e["ResponsePagePath"]) for e in config["CustomErrorResponses"]}
    assert fallback == {403: (200, "/index.html"), 404: (200, "/index.html")}
    assert config["DefaultRootObject"] == "index.html"
    oac = resources["WebOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")

    statements = resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "cloudfront.amazonaws.com"}]
    assert "${WebDistribution}" in allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Sub"]


def test_the_api_allows_the_distribution_as_a_cors_origin():
    template = load_template(ROOT / "template.yaml")
    origins = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"]
    joined = yaml.safe_dump(origins)
    assert "https://${WebDistribution.DomainName}" in joined
    assert "AllowedOrigins" in joined
    assert {"WebUrl", "WebBucketName", "WebDistributionId"} <= set(template["Outputs"])


def test_deploy_workflow_builds_uploads_and_configures_the_client():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    assert names.index("build the web client") < names.index("sam deploy") < names.index("publish the web client")
    publish = next(s for s in steps if s.get("name") == "publish the web client")["run"]
    assert "output ApiUrl" in publish and "web/dist/config.json" in publish
    assert publish.index("web/dist/assets") < publish.index('"s3://$bucket" --exclude')
    assert "create-invalidation" in publish
