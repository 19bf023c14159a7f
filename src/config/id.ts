import { z } from 'zod';

/** Ids people type in the CLI and see in reports: short, no spaces, no surprises in URLs or SQL. */
export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/, 'use letters, digits, "_", ".", "@" or "-" (at most 128 characters)');
