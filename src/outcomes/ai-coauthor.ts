/**
 * Whether an AI tool co-wrote a commit or pull request, from what the tools themselves write: co-author trailers,
 * "Generated with …" lines, bot authors. Pure. A human named Claude stays a human: names are matched with the
 * tool's own email domain or in the exact forms the tools use.
 */

export const AI_TOOLS = ['claude', 'copilot', 'codex', 'cursor', 'aider', 'gemini', 'devin', 'amp', 'jules', 'windsurf'] as const;
export type AiTool = (typeof AI_TOOLS)[number];

interface Person {
  name: string;
  email: string;
}

interface ToolSigns {
  /** A `Co-authored-by:` person (or the author) that is this tool. */
  person(p: Person): boolean;
  /** A line in the message that only this tool writes. */
  marker: RegExp;
}

const generated = (tool: string): RegExp => new RegExp(`\\b(?:generated|created|written|authored) (?:with|by|using) \\[?${tool}\\b`, 'i');

const SIGNS = {
  claude: {
    person: (p) => /@anthropic\.com$/i.test(p.email) || /^claude(?:\s+(?:code|opus|sonnet|haiku|\d)[\w .-]*)?$/i.test(p.name),
    marker: /\b(?:generated|created) (?:with|by|using) \[?claude(?: code)?\b/i,
  },
  copilot: {
    person: (p) => /^(?:github[- ])?copilot(?:-swe-agent)?(?:\[bot\])?$/i.test(p.name) || /\+copilot@users\.noreply\.github\.com$/i.test(p.email),
    marker: generated('(?:github )?copilot'),
  },
  codex: {
    person: (p) => /^(?:openai\s+)?codex(?:\[bot\])?$/i.test(p.name) || /^chatgpt-codex-connector/i.test(p.name) || /codex@openai\.com$/i.test(p.email),
    marker: generated('(?:openai )?codex'),
  },
  cursor: {
    person: (p) => /@cursor\.(?:com|sh)$/i.test(p.email) || /^cursor(?: agent)?(?:\[bot\])?$/i.test(p.name),
    marker: generated('cursor'),
  },
  aider: {
    person: (p) => /@aider\.chat$/i.test(p.email) || /^aider\b/i.test(p.name) || /\(aider\)\s*$/i.test(p.name),
    // Older aider versions prefixed their commit subjects with "aider: ".
    marker: /^aider: /im,
  },
  gemini: {
    person: (p) => /^gemini(?: cli| code assist)?(?:\[bot\])?$/i.test(p.name) || /gemini.*@google\.com$/i.test(p.email),
    marker: generated('gemini(?: cli)?'),
  },
  devin: {
    person: (p) => /^devin(?:-ai-integration)?(?:\[bot\])?$/i.test(p.name) || /@devin\.ai$/i.test(p.email),
    marker: generated('devin'),
  },
  amp: {
    person: (p) => /@ampcode\.com$/i.test(p.email),
    marker: /^amp-thread(?:-id)?:/im,
  },
  jules: {
    person: (p) => /^(?:google-labs-)?jules(?:\[bot\])?$/i.test(p.name),
    marker: generated('jules'),
  },
  windsurf: {
    person: (p) => /@(?:codeium|windsurf)\.com$/i.test(p.email) || /^(?:windsurf|cascade)(?:\[bot\])?$/i.test(p.name),
    marker: generated('(?:windsurf|cascade)'),
  },
} as const satisfies Record<AiTool, ToolSigns>;

const TRAILER = /^co-authored-by:\s*(.*?)\s*<([^>]*)>\s*$/gim;

/** The `Co-authored-by:` people of a message. */
export function coAuthors(message: string): Person[] {
  return [...message.matchAll(TRAILER)].map((m) => ({ name: m[1]!.trim(), email: m[2]!.trim() }));
}

export interface AiSigns {
  aiCoAuthored: boolean;
  aiTools: AiTool[];
}

/** The AI tools a commit or pull request names, from its message and its author (a bot author counts). */
export function detectAiTools(message: string, author?: Partial<Person>): AiSigns {
  const people = coAuthors(message);
  if (author?.name !== undefined || author?.email !== undefined) people.push({ name: author.name ?? '', email: author.email ?? '' });
  const tools = AI_TOOLS.filter((t) => {
    const signs: ToolSigns = SIGNS[t];
    return signs.marker.test(message) || people.some((p) => signs.person(p));
  });
  return { aiCoAuthored: tools.length > 0, aiTools: tools };
}
