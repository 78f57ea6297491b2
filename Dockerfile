# One image for every process of hubspot-deals: code server, webserver, daemon, REST API and the
# run workers that Dagster's Docker and Kubernetes launchers start (and the sandbox). Its
# entrypoint is deploy/production.sh: the command names the role (`api`, `daemon`, ...), and any
# other command (a run worker's `dagster api execute_run ...`) runs as it is.
#
#   docker build -t hubspot-deals:0.1.0 .
#   docker compose up            (compose.yaml: PostgreSQL and every role)

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The project from its own files (not from an index): what is built is what is checked out.
COPY pyproject.toml README.md ./
COPY hubspot_deals ./hubspot_deals
COPY api_shim ./api_shim
COPY hubspot_sandbox ./hubspot_sandbox
COPY deploy ./deploy
# Installs hubspot-deals[all]: the roles above need the dagster, api and sandbox extras.
RUN HUBSPOT_DEALS_VENV=/opt/venv deploy/production.sh install

FROM python:3.11.14-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    HUBSPOT_DEALS_VENV=/opt/venv \
    HUBSPOT_DEALS_HOME=/var/lib/hubspot-deals \
    DAGSTER_HOME=/var/lib/hubspot-deals/dagster_home \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /var/lib/hubspot-deals \
        --no-create-home --shell /usr/sbin/nologin app \
    && install -d -o app -g app -m 0700 /var/lib/hubspot-deals
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY dagster.yaml workspace.grpc.yaml ./
COPY deploy ./deploy
USER 10001:10001
VOLUME ["/var/lib/hubspot-deals"]
EXPOSE 5000
ENTRYPOINT ["/app/deploy/production.sh"]
CMD ["up"]
