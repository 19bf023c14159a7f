import { z } from 'zod';
import { configSchema } from './schema.js';

/** The published JSON Schema of goodhart.yaml (editors validate and complete with it). Generated, never hand-edited. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'Goodhart configuration (goodhart.yaml)',
  };
}
