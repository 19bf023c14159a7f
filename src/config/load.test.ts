import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GoodhartError } from '../errors.js';
import { configJsonSchema } from './json-schema.js';
import { configFromEnv, loadConfigFile, parseConfig } from './load.js';
import { CONFIG_TEMPLATE } from './template.js';

function errorOf(fn: () => unknown): GoodhartError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GoodhartError) return err;
    throw err;
  }
  throw new Error('expected a GoodhartError');
}

describe("the README's examples", () => {
  it('the Budgets example is a whole config: its providers are declared', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const from = readme.indexOf('```yaml', readme.indexOf('### Budgets')) + '```yaml'.length;
    const yaml = readme.slice(from, readme.indexOf('```', from));
    const cfg = parseConfig(yaml, 'README.md', { OPENAI_API_KEY: 'sk-test' });
    expect(cfg.budgets.map((b) => b.id)).toEqual(['platform-monthly', 'each-dev-daily', 'search-hybrid']);
    expect(cfg.models.map((m) => [m.name, m.provider])).toEqual([['my-llama', 'local']]);
  });
});

describe('config loading', () => {
  it('substitutes ${ENV} and ${ENV:-default} in values, and keeps $${ literal', () => {
    const cfg = parseConfig(
      [
        'providers:',
        '  openai:',
        '    type: openai',
        '    baseUrl: ${BASE:-https://api.openai.com/v1}',
        '    apiKey: ${KEY}',
        '    headers: { x-note: "cost $${NOT_A_VAR}" }',
      ].join('\n'),
      'goodhart.yaml',
      { KEY: 'sk-secret' },
    );
    expect(cfg.providers.openai).toMatchObject({ baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-secret' });
    expect(cfg.providers.openai!.headers).toEqual({ 'x-note': 'cost ${NOT_A_VAR}' });
    expect(cfg.server.port).toBe(8787);
  });

  it('reads ${ENV} as a number or true/false where the schema wants one, and as text where it wants text', () => {
    const text = [
      'server:',
      '  port: ${PORT:-8787}',
      'providers:',
      '  openai: { type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "${KEY}" }',
      'detect:',
      '  live:',
      '    enabled: ${LIVE:-false}',
      'budgets:',
      '  - id: org',
      '    scope: org',
      '    amount: ${BUDGET}',
      '    period: month',
    ].join('\n');
    const cfg = parseConfig(text, 'goodhart.yaml', { KEY: '12345', BUDGET: '250.5', PORT: '9000' });
    expect([cfg.server.port, cfg.providers.openai!.apiKey, cfg.detect.live.enabled, cfg.budgets[0]!.amount]).toEqual([9000, '12345', false, 250.5]);
    expect(parseConfig(text, 'goodhart.yaml', { KEY: 'k', BUDGET: '1', LIVE: 'TRUE' }).server.port).toBe(8787);
    // A variable that is not a number says so, and what to do.
    expect(errorOf(() => parseConfig(text, 'goodhart.yaml', { KEY: 'k', BUDGET: 'lots' })).message).toMatch(
      /budgets\[0\]\.amount \(line 11\): .*Fix: the value comes from \$\{…\}: set that variable \(or its :-default\) to a number/,
    );
  });

  it('names the file, the path, the line and the fix', () => {
    const text = ['server:', '  port: 8787', 'providers:', '  openai:', '    type: openai', '    baseUrl: not-a-url'].join('\n');
    const err = errorOf(() => parseConfig(text, 'prod.yaml', {}));
    expect(err.code).toBe('config_invalid');
    expect(err.message).toContain('prod.yaml');
    expect(err.message).toContain('providers.openai.baseUrl (line 6)');
    expect(err.message).toMatch(/http\(s\) URL/);
  });

  it('explains an unset variable, an unknown key and a dangling reference', () => {
    expect(errorOf(() => parseConfig('providers:\n  o: { type: openai, baseUrl: "${MISSING}" }', 'a.yaml', {})).message).toMatch(
      /providers\.o\.baseUrl refers to \$\{MISSING\}, which is not set\. Fix: export MISSING/,
    );
    const unknown = errorOf(() => parseConfig('sever:\n  port: 1', 'b.yaml', {}));
    expect(unknown.message).toMatch(/sever \(line 1\): unknown key "sever"/);
    const dangling = errorOf(() => parseConfig('models:\n  - { name: m, provider: nope }', 'c.yaml', {}));
    expect(dangling.message).toMatch(/models\[0\]\.provider \(line 2\): provider "nope" is not declared/);
    const syntax = errorOf(() => parseConfig('providers: [unclosed', 'd.yaml', {}));
    expect(syntax.message).toMatch(/d\.yaml: YAML syntax error/);
  });

  it('lets commands that only read (use "read") run without the secrets only the gateway uses; serve needs them', () => {
    const text = [
      'db: ${DB:-./g.db}',
      'providers:',
      '  openai: { type: openai, baseUrl: "${OPENAI_BASE:-https://api.openai.com/v1}", apiKey: "${OPENAI_KEY}", headers: { x-org: "${ORG}" } }',
      'admin:',
      '  keys: [{ id: ops, key: "${GOODHART_ADMIN_KEY}" }]',
      'alerts:',
      '  sinks: [{ type: slack, url: "${SLACK_WEBHOOK_URL}" }]',
      'outcomes:',
      '  webhooks: { github: { secrets: ["${GITHUB_WEBHOOK_SECRET}"] } }',
      'redis: { url: "${REDIS_URL}" }',
    ].join('\n');
    expect(parseConfig(text, 'goodhart.yaml', {}, 'read').db).toBe('./g.db');
    expect(errorOf(() => parseConfig(text, 'goodhart.yaml', {})).message).toMatch(/providers\.openai\.apiKey refers to \$\{OPENAI_KEY\}, which is not set/);
    expect(errorOf(() => parseConfig(text.replace('${REDIS_URL}', 'redis://r:6379'), 'goodhart.yaml', { OPENAI_KEY: 'k', ORG: 'o' }, 'serve')).message).toMatch(
      /admin\.keys\[0\]\.key refers to \$\{GOODHART_ADMIN_KEY\}, which is not set/,
    );
    // What a read command may use stays required.
    expect(errorOf(() => parseConfig('db: ${GOODHART_TEST_DB}', 'goodhart.yaml', {}, 'read')).message).toMatch(/db refers to \$\{GOODHART_TEST_DB\}, which is not set/);
  });

  it('says what is wrong and the fix: a missing baseUrl (with its type\'s example), a wrong type, an unknown key at its line, a bare $VAR', () => {
    const missing = errorOf(() => parseConfig('providers:\n  claude: { type: anthropic }\n  gpt:\n    type: openai', 'a.yaml', {})).message;
    expect(missing).toContain('providers.claude.baseUrl (line 2): missing: every provider needs its API\'s base URL. Fix: add baseUrl, e.g. https://api.anthropic.com for type anthropic');
    expect(missing).toContain('providers.gpt.baseUrl (line 3): missing: every provider needs its API\'s base URL. Fix: add baseUrl, e.g. https://api.openai.com/v1 for type openai');
    const types = errorOf(() => parseConfig('server:\n  port: "8080x"\n  host: 1\ndetect:\n  live:\n    enabled: yes\nteams: platform', 'b.yaml', {})).message;
    expect(types).toContain('server.port (line 2): expected a number, got the text "8080x". Fix: write a number, without quotes');
    expect(types).toContain('server.host (line 3): expected text, got the number 1. Fix: write text; quote it');
    expect(types).toContain('detect.live.enabled (line 6): expected true or false, got the text "yes". Fix: write true or false, without quotes');
    expect(types).toContain('teams (line 7): expected a list, got the text "platform". Fix: write a list');
    expect(types).not.toContain('Invalid input');
    const unknown = errorOf(() => parseConfig('server:\n  prot: 8080\n  host: 0.0.0.0', 'c.yaml', {})).message;
    expect(unknown).toContain('server.prot (line 2): unknown key "prot". Fix: remove it or check the spelling');
    const bare = errorOf(() => parseConfig('providers:\n  openai:\n    type: openai\n    baseUrl: https://api.openai.com/v1\n    apiKey: $OPENAI_API_KEY', 'd.yaml', { OPENAI_API_KEY: 'sk-1' })).message;
    expect(bare).toContain('providers.openai.apiKey (line 5): "$OPENAI_API_KEY" is not a variable here: only ${…} is replaced. Fix: write ${OPENAI_API_KEY}');
  });

  it('refuses a document of aliases that expands without bound, saying so', () => {
    const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n');
    const err = errorOf(() => parseConfig(laughs, 'lol.yaml', {}));
    expect(err.code).toBe('config_invalid');
    expect(err.message).toMatch(/lol\.yaml: YAML error: .*Fix: use fewer aliases/);
  });

  it('refuses ids declared twice, and a budget for a team, user or project that is not declared', () => {
    const twice = errorOf(() => parseConfig('teams: [{ id: a }, { id: a }]\nmodels:\n  - { name: m, provider: p, price: { input: 1, output: 1 } }\n  - { name: m, provider: p, price: { input: 5, output: 5 } }\nproviders:\n  p: { type: openai-compatible, baseUrl: "http://x.test/v1" }', 'e.yaml', {}));
    expect(twice.message).toMatch(/teams\[1\] \(line 1\): team "a" is declared twice/);
    expect(twice.message).toMatch(/models\[1\] \(line 4\): model "m" is declared twice/);
    // Every list of ids: two rate limits of one id would share one counter, each getting half its limit.
    const ids = errorOf(() =>
      parseConfig(
        'rateLimits:\n  - { id: r, scope: "key:*", rpm: 6 }\n  - { id: r, scope: "key:*", rpm: 100 }\nbudgets:\n  - { id: b, scope: org, amount: 1 }\n  - { id: b, scope: org, amount: 2 }\nadmin:\n  keys:\n    - { id: ops, key: admin-secret-key-0123456789 }\n    - { id: ops, key: other-secret-key-0123456789 }',
        'i.yaml',
        {},
      ),
    ).message;
    expect(ids).toBe(
      'i.yaml: invalid configuration:\n' +
        '  budgets[1] (line 6): budget id "b" is declared twice. Fix: give each budget its own id (its spend and alerts are kept by id)\n' +
        '  rateLimits[1] (line 3): rate limit id "r" is declared twice. Fix: give each rate limit its own id (its counters are kept by id: two of one id share them)\n' +
        '  admin.keys[1] (line 10): admin key id "ops" is declared twice. Fix: give each admin key its own id (the audit log names the key by it)',
    );
    // An admin key whose role does not exist, and one key listed twice (as itself or as its hash) under two roles.
    const adminKeys = errorOf(() =>
      parseConfig(
        `admin:\n  keys:\n    - { id: ops, key: admin-secret-key-0123456789, role: superuser }\n    - { id: audit, key: \"\${AUDIT_KEY}\", role: finance }\n    - { id: ops2, sha256: ${createHash('sha256').update('admin-secret-key-0123456789').digest('hex')}, role: admin }`,
        'k.yaml',
        { AUDIT_KEY: 'admin-secret-key-0123456789' },
      ),
    ).message;
    expect(adminKeys).toBe(
      'k.yaml: invalid configuration:\n' +
        '  admin.keys[1] (line 4): admin key "audit" is the same key as admin.keys[0] ("ops", role superuser), so one of the two roles would never apply. Fix: keep one entry, or give this one a key of its own\n' +
        '  admin.keys[2] (line 5): admin key "ops2" is the same key as admin.keys[0] ("ops", role superuser), so one of the two roles would never apply. Fix: keep one entry, or give this one a key of its own\n' +
        '  admin.keys[0].role (line 3): role "superuser" is not declared. Fix: use one of member, senior, lead, admin, finance, or declare it under `roles:`',
    );
    // A command that needs no admin key reads a config whose keys are unset (their stand-ins are not compared).
    const unset = 'admin:\n  keys:\n    - { id: ops, key: \"${OPS_KEY}\" }\n    - { id: audit, key: \"${AUDIT_KEY}\", role: finance }';
    expect(parseConfig(unset, 'l.yaml', {}, 'read').admin.keys).toHaveLength(2);
    // Maps cannot hold a key twice (tiers, roles, providers): the YAML parser says so.
    expect(errorOf(() => parseConfig('tiers:\n  economy: [a]\n  economy: [b]', 'j.yaml', {})).message).toMatch(/j\.yaml: YAML syntax error: Map keys must be unique/);
    const typo = errorOf(() => parseConfig('teams: [{ id: platform }]\nbudgets:\n  - { id: b, scope: "team:platfrom", amount: 5 }', 'f.yaml', {}));
    expect(typo.message).toContain('budgets[0].scope (line 3): team "platfrom" is not declared, so this budget would never apply. Did you mean "platform"? Fix: use one of platform, or declare it under `teams:`');
    // The same for a rate limit; a role naming a tier that is not declared; a user's or project's team.
    const refs = errorOf(() =>
      parseConfig('teams: [{ id: platform }]\nusers: [{ id: bob, team: platfrom, role: membr }]\nprojects: [{ id: p1, team: nope }]\ntiers: { economy: [gpt-4o-mini] }\nroles:\n  member: { tiers: [economy, standard] }\nrateLimits:\n  - { id: r, scope: "user:bobb", rpm: 5 }', 'h.yaml', {}),
    ).message;
    expect(refs).toBe(
      'h.yaml: invalid configuration:\n' +
        '  roles.member.tiers[1] (line 6): tier "standard" is not declared. Fix: use one of economy, or declare it under `tiers:`\n' +
        '  users[0].team (line 2): team "platfrom" is not declared. Did you mean "platform"? Fix: use one of platform, or declare it under `teams:`\n' +
        '  users[0].role (line 2): role "membr" is not declared. Did you mean "member"? Fix: use one of member, or declare it under `roles:`\n' +
        '  projects[0].team (line 3): team "nope" is not declared. Fix: use one of platform, or declare it under `teams:`\n' +
        '  rateLimits[0].scope (line 8): user "bobb" is not declared, so this rate limit would never apply. Did you mean "bob"? Fix: use one of bob, or declare it under `users:`',
    );
    // Wildcards, and kinds the config does not declare at all, are fine.
    expect(parseConfig('teams: [{ id: platform }]\nbudgets:\n  - { id: b, scope: "team:*", amount: 5 }\n  - { id: c, scope: "user:bob", amount: 5 }', 'g.yaml', {}).budgets).toHaveLength(2);
  });

  it('refuses a routing mode for a team or project that is not declared, suggesting the one likely meant', () => {
    const declared = 'teams: [{ id: platform }, { id: data }]\nprojects: [{ id: checkout, team: platform }]\n';
    const typo = errorOf(() => parseConfig(`${declared}routing:\n  mode: shadow\n  teams:\n    platfrom: on\n  projects: { checkuot: on }\n`, 'r.yaml', {}));
    expect(typo.message).toBe(
      'r.yaml: invalid configuration:\n' +
        '  routing.teams.platfrom (line 6): team "platfrom" is not declared under `teams:`, so this mode would never apply. Did you mean "platform"? Fix: use one of platform, data, or declare it\n' +
        '  routing.projects.checkuot (line 7): project "checkuot" is not declared under `projects:`, so this mode would never apply. Did you mean "checkout"? Fix: use one of checkout, or declare it',
    );
    expect(parseConfig(`${declared}routing: { teams: { data: on }, projects: { checkout: off } }`, 'r.yaml', {}).routing.teams).toEqual({ data: 'on' });
    // Teams (or projects) the config does not declare at all come from keys: any id goes.
    expect(parseConfig('routing: { teams: { search: on } }', 'r.yaml', {}).routing.teams).toEqual({ search: 'on' });
  });

  it("reads the ids a provider's usage report gives the gateway's traffic, refusing a key in their place", () => {
    const base = 'providers:\n  oai:\n    type: openai\n    baseUrl: https://api.openai.com/v1\n';
    const cfg = parseConfig(`${base}    usageReportIds: { apiKeyIds: [key_gw1], projectIds: [proj_gw] }`, 'u.yaml', {});
    expect(cfg.providers['oai']!.usageReportIds).toEqual({ apiKeyIds: ['key_gw1'], projectIds: ['proj_gw'] });
    expect(parseConfig(`${base}    usageReportIds: { projectIds: [proj_gw] }`, 'u.yaml', {}).providers['oai']!.usageReportIds).toEqual({ apiKeyIds: [], projectIds: ['proj_gw'] });
    expect(errorOf(() => parseConfig(`${base}    usageReportIds: { apiKeyIds: [sk-proj-abc123] }`, 'u.yaml', {})).message).toContain(
      'providers.oai.usageReportIds.apiKeyIds[0] (line 5): the id the usage report shows (key_…, apikey_…, proj_…, wrkspc_…), not the API key itself: never put a key here',
    );
    expect(errorOf(() => parseConfig('providers:\n  local:\n    type: openai-compatible\n    baseUrl: http://127.0.0.1:11434/v1\n    usageReportIds: { apiKeyIds: [key_1] }', 'u.yaml', {})).message).toContain(
      "providers.local.usageReportIds (line 5): only OpenAI's and Anthropic's admin usage reports",
    );
  });

  it("reads projects' ids at the providers, each under one project", () => {
    const cfg = parseConfig('projects:\n  - { id: web, providerIds: [proj_abc, wrkspc_01] }', 'p.yaml', {});
    expect(cfg.projects[0]!.providerIds).toEqual(['proj_abc', 'wrkspc_01']);
    expect(errorOf(() => parseConfig('projects:\n  - { id: web, providerIds: [proj_abc] }\n  - { id: api, providerIds: [proj_x, proj_abc] }', 'p.yaml', {})).message).toContain(
      'projects[1].providerIds[1] (line 3): "proj_abc" is already a providerId of project "web". Fix: keep it under one project',
    );
    expect(errorOf(() => parseConfig('projects:\n  - { id: web, providerIds: [sk-ant-api03-xyz] }', 'p.yaml', {})).message).toContain('not the API key itself');
  });

  it('reports a missing file with the way out', () => {
    expect(errorOf(() => loadConfigFile('/nonexistent/goodhart.yaml')).message).toMatch(/no such file\. Fix: run `goodhart init`/);
  });

  it('builds providers from the SDK environment variables when there is no file', () => {
    const cfg = configFromEnv({ OPENAI_API_KEY: 'sk-1', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999' });
    expect(Object.keys(cfg.providers)).toEqual(['openai', 'anthropic']);
    expect(cfg.providers.openai!.baseUrl).toBe('https://api.openai.com/v1');
    expect(cfg.providers.anthropic!.baseUrl).toBe('http://127.0.0.1:9999');
    expect(configFromEnv({}).providers).toEqual({});
  });

  it('accepts the template `goodhart init` writes', () => {
    const cfg = parseConfig(CONFIG_TEMPLATE, 'goodhart.yaml', {});
    expect(Object.keys(cfg.providers)).toEqual(['openai', 'anthropic']);
  });

  it('publishes the JSON Schema generated from the config schema (run `npm run schema` after changing it)', () => {
    const published = JSON.parse(readFileSync(new URL('../../schema/goodhart.schema.json', import.meta.url), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('warns, naming the file, path and line, about a price in the wrong unit (USD per million tokens), and still loads', () => {
    const text = [
      'providers:',
      '  local: { type: openai-compatible, baseUrl: "http://127.0.0.1:11434/v1" }',
      'models:',
      '  - name: my-llama',
      '    provider: local',
      '    price: { input: 0.0000025, output: 0.00001 }',
      '  - name: free-llama',
      '    provider: local',
      '    price: { input: 0, output: 0.02, cacheRead: 0.001 }',
      '  - name: dear',
      '    provider: local',
      '    price: { input: 2.5, output: 25000 }',
    ].join('\n');
    const warnings: string[] = [];
    const cfg = parseConfig(text, 'goodhart.yaml', {}, 'serve', [], (m) => warnings.push(m));
    expect(cfg.models[0]!.price).toEqual({ input: 0.0000025, output: 0.00001 });
    expect(warnings).toEqual([
      'goodhart.yaml: warning: models[0].price.input (line 6): 0.0000025 is implausibly small: prices are USD per million tokens, so this books my-llama at $0.0000025 per million tokens. A price per token of 0.0000025 is 2.5 per million; write that.',
      'goodhart.yaml: warning: models[0].price.output (line 6): 0.00001 is implausibly small: prices are USD per million tokens, so this books my-llama at $0.00001 per million tokens. A price per token of 0.00001 is 10 per million; write that.',
      'goodhart.yaml: warning: models[2].price.output (line 12): 25000 is implausibly large: prices are USD per million tokens, so this books dear at $25000 per million tokens. Check the unit (per million, not per billion).',
    ]);
  });

  it('warns when serving with a provider key that is empty (the template\'s ${OPENAI_API_KEY:-} unset), naming the variable', () => {
    const warnings: string[] = [];
    parseConfig(CONFIG_TEMPLATE, 'goodhart.yaml', { ANTHROPIC_API_KEY: 'sk-ant-1' }, 'serve', [], (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^goodhart\.yaml: warning: providers\.openai\.apiKey \(line \d+\): empty \(OPENAI_API_KEY is not set\), so requests to provider "openai" go without a key and it will answer 401\. Fix: export OPENAI_API_KEY=… before starting, or remove apiKey if this server needs no key\.$/,
    );
    // Commands that call no provider are not told.
    const quiet: string[] = [];
    parseConfig(CONFIG_TEMPLATE, 'goodhart.yaml', {}, 'read', [], (m) => quiet.push(m));
    expect(quiet).toEqual([]);
  });

  it('refuses a ${ that is not ${NAME} or ${NAME:-default}, with the file, path, line and the forms it supports', () => {
    const forms = 'Fix: write ${NAME} or ${NAME:-default} (NAME: letters, digits and _, not starting with a digit), or $${ for a literal ${';
    const cases: [string, string][] = [
      ['${OPENAI_API_KEY', '"${OPENAI_API_KEY" has no closing }'],
      ['${OPENAI_API_KEY:?x}', '"${OPENAI_API_KEY:?x}" is a shell form this file does not support (only ":-" gives a default; ":?", "-", ":=", ":+" and the like are not replaced)'],
      ['${OPENAI_API_KEY-default}', '"${OPENAI_API_KEY-default}" is a shell form this file does not support'],
      ['${open-ai}', '"${open-ai}" is a shell form this file does not support'],
      ['"${1KEY}"', '"${1KEY}" is not a variable name'],
      ['"sk-${KEY}${"', '"${" has no closing }'],
      ['${A:-${B}}', '"${A:-${B}}": a default cannot hold another ${…} (it would be used as it is, not replaced). Fix: write one ${NAME}'],
    ];
    for (const [written, why] of cases) {
      const text = ['providers:', '  openai:', '    type: openai', '    baseUrl: https://api.openai.com/v1', `    apiKey: ${written}`].join('\n');
      const err = errorOf(() => parseConfig(text, 'goodhart.yaml', { OPENAI_API_KEY: 'sk-1', KEY: 'k' }, 'read'));
      expect(err.message).toContain(`goodhart.yaml: invalid configuration:\n  providers.openai.apiKey (line 5): ${why}`);
      if (!why.includes('a default cannot')) expect(err.message).toContain(`so it would be used as it is, not replaced. ${forms}`);
    }
    // The supported forms and an escaped ${ still load.
    const ok = parseConfig(
      ['providers:', '  openai:', '    type: openai', '    baseUrl: ${BASE:-https://api.openai.com/v1}', '    apiKey: ${A:-sk-a}', '    headers: { x-note: "$${not: a var" }'].join('\n'),
      'goodhart.yaml',
      { B: 'sk-b' },
    );
    expect(ok.providers.openai!.headers).toEqual({ 'x-note': '$${not: a var' });
  });

  it('says what is wrong and how to fix it where zod said "Invalid key in record", "Invalid input" or "Too small"', () => {
    const problem = (text: string): string => errorOf(() => parseConfig(text, 'goodhart.yaml', {}, 'read')).message;
    expect(problem('providers:\n  "open ai": { type: openai, baseUrl: "https://api.openai.com/v1" }\n')).toBe(
      'goodhart.yaml: invalid configuration:\n  providers.open ai (line 2): "open ai" cannot be an id here: use letters, digits, "_", ".", "@" or "-", starting with a letter or digit (at most 128 characters). Fix: rename it',
    );
    expect(problem('server: { trustProxy: "true" }\n')).toBe(
      'goodhart.yaml: invalid configuration:\n  server.trustProxy (line 1): expected true or false, or a list, got the text "true". Fix: write true without quotes',
    );
    expect(problem('server: { trustProxy: 10.0.0.5 }\n')).toMatch(/server\.trustProxy \(line 1\): expected true or false, or a list, got the text "10\.0\.0\.5"\. Fix: write true or false, or a list \(see schema/);
    expect(problem('admin:\n  keys: [{ id: ops, key: short, role: admin }]\n')).toBe(
      'goodhart.yaml: invalid configuration:\n  admin.keys[0].key (line 2): too short: an admin key needs at least 16 characters. Generate one with `openssl rand -hex 24` and give it as ${ENV_VAR}',
    );
    expect(problem('server: { port: 1 }\n---\nserver: { port: 2 }\n')).toBe(
      'goodhart.yaml: more than one YAML document (a `---` line at line 2 starts another): a config file holds one. Fix: remove the `---` and merge what follows into one document, or keep each in its own file.',
    );
  });
});
