import { describe, expect, it } from 'vitest';
import { detectAiTools } from './ai-coauthor.js';

const tools = (msg: string, author?: { name?: string; email?: string }): string[] => detectAiTools(msg, author).aiTools;

describe('AI co-author detection', () => {
  it('recognises what each tool writes', () => {
    expect(tools('Fix\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\nCo-Authored-By: Claude <noreply@anthropic.com>')).toEqual(['claude']);
    expect(tools('Fix\n\nCo-authored-by: Claude Opus 4.1 <noreply@anthropic.com>')).toEqual(['claude']);
    expect(tools('Fix\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>')).toEqual(['copilot']);
    expect(tools('Add parser', { name: 'copilot-swe-agent[bot]', email: '198982749+Copilot@users.noreply.github.com' })).toEqual(['copilot']);
    expect(tools('Fix\n\nCo-authored-by: Codex <codex@openai.com>')).toEqual(['codex']);
    expect(tools('Fix\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>')).toEqual(['cursor']);
    expect(tools('aider: fix the parser')).toEqual(['aider']);
    expect(tools('Fix', { name: 'Ann (aider)', email: 'ann@acme.com' })).toEqual(['aider']);
    expect(tools('Fix\n\nCo-authored-by: aider (anthropic/claude-sonnet-4) <noreply@aider.chat>')).toEqual(['aider']);
    expect(tools('Fix\n\nAmp-Thread: https://ampcode.com/threads/T-1\nCo-authored-by: Amp <amp@ampcode.com>')).toEqual(['amp']);
    expect(tools('Fix', { name: 'devin-ai-integration[bot]' })).toEqual(['devin']);
  });

  it('leaves humans alone', () => {
    expect(detectAiTools('Fix\n\nCo-authored-by: Claude Dupont <claude@dupont.fr>\nCo-authored-by: Ann <ann@acme.com>')).toEqual({ aiCoAuthored: false, aiTools: [] });
    expect(tools('Discussed with the cursor position in mind; copilot seat renewals')).toEqual([]);
  });

  it('finds several tools', () => {
    expect(tools('X\n\nCo-authored-by: Claude <noreply@anthropic.com>\nCo-authored-by: Copilot <1+Copilot@users.noreply.github.com>')).toEqual(['claude', 'copilot']);
  });
});
