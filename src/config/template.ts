/** Where the template's first line points editors for the schema; `goodhart init` writes the path that resolves. */
export const TEMPLATE_SCHEMA_REF = './node_modules/goodhart/schema/goodhart.schema.json';

/**
 * What `goodhart init` writes: every section, commented, valid as it stands. Its first line names the JSON Schema for
 * editors (yaml-language-server), relative to the file: init.ts puts in the path of the installed goodhart's.
 */
export const CONFIG_TEMPLATE = `# yaml-language-server: $schema=${TEMPLATE_SCHEMA_REF}
# (the JSON Schema of the goodhart that wrote this file, for editors: fix the path if either moves)
# Goodhart configuration. Validated at start: a mistake is reported with its path and line, and the server
# does not start. \${VAR} is replaced by the environment variable VAR (\${VAR:-default} gives a default).

server:
  host: 127.0.0.1          # 0.0.0.0 to accept connections from other machines
  port: 8787
  bodyLimitBytes: 33554432 # 32 MiB: larger request bodies get 413
  upstreamTimeoutMs: 600000 # 10 min to the first byte / between stream chunks, then 504

# db: ./.goodhart/goodhart.db   # SQLite file (default; or set GOODHART_DB)

providers:
  openai:
    type: openai                       # openai | anthropic | openai-compatible
    baseUrl: \${OPENAI_BASE_URL:-https://api.openai.com/v1}
    apiKey: \${OPENAI_API_KEY:-}
    # How OpenAI's admin usage report names this gateway's own traffic, so \`goodhart import openai-usage\`
    # leaves it to the gateway's metering: the key's id (key_…) and/or a project only the gateway uses (proj_…).
    # usageReportIds: { apiKeyIds: [key_…], projectIds: [proj_…] }
  anthropic:
    type: anthropic
    baseUrl: \${ANTHROPIC_BASE_URL:-https://api.anthropic.com}
    apiKey: \${ANTHROPIC_API_KEY:-}
    # usageReportIds: { apiKeyIds: [apikey_…], projectIds: [wrkspc_…] }   # as for openai: its key, its workspace
  # A self-hosted or third-party OpenAI-compatible server (vLLM, Ollama, OpenRouter, Azure OpenAI):
  # local:
  #   type: openai-compatible
  #   baseUrl: http://localhost:11434/v1
  #   models: ["llama3.1:*"]          # names (or prefix* globs) it serves
  # azure:
  #   type: openai-compatible
  #   baseUrl: https://YOUR-RESOURCE.openai.azure.com/openai/deployments/YOUR-DEPLOYMENT
  #   query: { api-version: "2024-10-21" }
  #   headers: { api-key: "\${AZURE_OPENAI_API_KEY:-}" }
  #   models: ["gpt-4o-azure"]

# Models that need routing or prices the catalogue does not have:
models: []
#  - name: llama3.1:70b          # what clients send
#    provider: local
#    price: { input: 0.0, output: 0.0 }   # USD per million tokens (self-hosted: your cost, or 0)

# Who is who. Keys are created with: goodhart keys create --user alice
teams:
  - id: platform
    name: Platform
users:
  - id: alice
    team: platform
projects: []
#  - id: checkout
#    team: platform
#    providerIds: [proj_…, wrkspc_…]   # its OpenAI project / Anthropic workspace in the usage reports (goodhart import)

# Governance (see README, "Governance"). Periods are calendar-aligned in this time zone.
# timeZone: Europe/Berlin
# budgets:
#   - id: platform-monthly
#     scope: team:platform          # org | team:ID | user:ID | project:ID | key:ID | tag:TAG  (ID * = each)
#     amount: 500                   # USD (or tokens with unit: tokens)
#     period: month                 # day | week | month | quarter | year | none
#     thresholds: [50, 80, 100]     # alerts + warning header, once per threshold per period
#     action: block                 # block (429) | downgrade (with downgradeTo, from downgradeAt %)
#     contact: "#ai-budget"
# rateLimits:
#   - { id: per-key, scope: "key:*", rpm: 120, tpm: 400000 }
# tiers:
#   economy: ["gpt-4o-mini*", "gpt-4.1-nano*", "gpt-5-nano*", "claude-haiku-*"]   # the first tier listing a model wins;
#   standard: ["gpt-4.1*", "gpt-5-mini*", "claude-sonnet-*"]                     # * covers snapshots (gpt-5-2025-08-07)
#   premium: ["gpt-5*", "o3*", "o1*", "claude-opus-*"]
# alerts:
#   sinks:
#     - { type: slack, url: "\${SLACK_WEBHOOK_URL}" }
# admin:
#   keys:
#     - { id: ops, key: "\${GOODHART_ADMIN_KEY}", role: admin }
`;
