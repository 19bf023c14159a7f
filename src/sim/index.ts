/**
 * The simulated upstream: a local server that speaks the OpenAI and Anthropic APIs on the wire, streaming
 * included, with exact token accounting and scripted failures. Used by tests, benchmarks and `serve --demo`.
 */
export { startSimProvider, type SimOptions, type SimProvider } from './server.js';
export { SIM_MODELS, SIM_MODEL_NAMES, findModel, type SimModel, type SimModelId, type SimProviderId } from './models.js';
export { parseDirectives, type Directives } from './directives.js';
export { DEFAULT_EMBEDDING_DIMENSIONS } from './openai-embeddings.js';
