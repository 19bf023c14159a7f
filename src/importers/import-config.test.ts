import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../config/load.js';
import { importConfigOf, NO_FILE_IMPORT_CONFIG } from './import-config.js';

describe('import config without a file', () => {
  it('is what the schema gives an empty config', () => {
    expect(NO_FILE_IMPORT_CONFIG).toEqual(importConfigOf(configFromEnv({})));
  });
});
