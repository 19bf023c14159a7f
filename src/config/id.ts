import { z } from 'zod';

/** What an id may contain, as messages say it. */
export const ID_RULE = 'use letters, digits, "_", ".", "@" or "-", starting with a letter or digit (at most 128 characters)';

/** Ids people type in the CLI and see in reports: short, no spaces, no surprises in URLs or SQL. */
export const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/, ID_RULE);
