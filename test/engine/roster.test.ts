import { describe, expect, it } from 'vitest';
import { planningRoster, rosterChoices } from '../../src/engine/crew/roster.js';

const agent = (name: string, origin: 'roster' | 'hire', day: number) => ({
  name,
  origin,
  createdAt: new Date(2026, 0, day),
});

describe('rosterChoices', () => {
  it('offers the current agent, then the seeded roster, then the latest hires, shown by name', () => {
    const agents = [
      agent('Zed', 'hire', 1),
      agent('Old hire', 'hire', 2),
      agent('New hire', 'hire', 20),
      agent('Grace', 'roster', 3),
      agent('Linus', 'roster', 4),
    ];
    expect(rosterChoices(agents, ' zed ', 4).map((a) => a.name)).toEqual(['Grace', 'Linus', 'New hire', 'Zed']);
    expect(rosterChoices(agents, null, 3).map((a) => a.name)).toEqual(['Grace', 'Linus', 'New hire']);
  });

  it('never offers more than a select can hold beside the "new hire" option', () => {
    const many = Array.from({ length: 250 }, (_, i) => agent(`Hire ${String(i).padStart(3, '0')}`, 'hire', i % 28));
    expect(rosterChoices(many, 'Hire 249')).toHaveLength(99);
    expect(rosterChoices(many, 'Hire 249').some((a) => a.name === 'Hire 249')).toBe(true);
  });
});

describe('planningRoster', () => {
  const hire = (name: string, title: string, skills: string[], day: number) => ({
    name,
    title,
    skills,
    createdAt: new Date(2026, 0, day),
  });

  it('shows the CEO agent at most the limit: the most relevant to the goal first, then the most recent', () => {
    const many = Array.from({ length: 200 }, (_, i) => hire(`Hire ${i}`, 'Generalist', ['writing'], i + 1));
    const analyst = hire('Ada', 'Market analyst', ['pricing', 'competitors'], 1);
    const chosen = planningRoster([...many, analyst], 'Compare the pricing of our competitors', 5);
    expect(chosen).toHaveLength(5);
    expect(chosen.map((a) => a.name)).toContain('Ada');
    // The rest are the most recent hires.
    expect(chosen.filter((a) => a.name !== 'Ada').map((a) => a.name)).toEqual([
      'Hire 196',
      'Hire 197',
      'Hire 198',
      'Hire 199',
    ]);
  });
});
