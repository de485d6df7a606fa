/**
 * Saved plans, end to end: Save as template on an approved plan, with a part of the goal marked as a
 * parameter; `/orchestrate use` posts it with the parameter filled in and no planning call; the App
 * Home lists it with its runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Template } from '../../src/models/template.js';
import { eventually, findButton, type Harness, REQUESTER, SIGNING_SECRET, startHarness } from '../helpers/harness.js';
import { openHomeTab } from '../helpers/signedRequests.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const field = (id: { block: string; action: string }, value: string) => ({
  [id.block]: { [id.action]: { type: 'plain_text_input', value } },
});

describe('saved plans', () => {
  it('saves an approved plan with a parameter, and posts it again with a new value and no planning call', async () => {
    h = await startHarness();
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
    const done = h.slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === ts && findButton(c, 'run.save_template'))
      .at(-1)!;
    await h.click('run.save_template', findButton(done, 'run.save_template')!.value, REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.saveTemplate,
    );
    const meta = modal.args.view.private_metadata;

    const bad = await h.submit(ViewIds.saveTemplate, meta, {
      ...field(InputIds.templateName, 'Competitor Scan!'),
      ...field(InputIds.templateParams, 'product = an offline-first meeting recorder'),
    });
    expect(bad.json.errors[InputIds.templateName.block]).toMatch(/lowercase/);
    const ok = await h.submit(ViewIds.saveTemplate, meta, {
      ...field(InputIds.templateName, 'competitor-scan'),
      ...field(InputIds.templateDescription, 'A positioning one-pager'),
      ...field(InputIds.templateParams, 'product = an offline-first meeting recorder'),
    });
    expect(ok.text).toBe('');
    expect(await Template.countDocuments({ name: 'competitor-scan' })).toBe(1);

    const planned = h.llm.requests.filter((r) => r.toolName === 'propose_plan').length;
    const unknown = await h.command('use nosuch-plan');
    expect(unknown.status).toBe(200);
    const res = await h.command('use competitor-scan product="a smart paper notebook"');
    expect(res.status).toBe(200);
    const posted = await h.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        !c.args.thread_ts &&
        JSON.stringify(c.args.blocks).includes('a smart paper notebook'),
    );
    expect(findButton(posted, 'orchestrate.approve')).toBeDefined();
    expect(h.llm.requests.filter((r) => r.toolName === 'propose_plan')).toHaveLength(planned);
    const made = (await Orchestration.findOne({ goal: /smart paper notebook/ }).lean())!;
    expect(made.status).toBe('proposed');
    expect(made.goal).not.toContain('offline-first meeting recorder');
    expect(String(made.templateId)).toBe(String((await Template.findOne({ name: 'competitor-scan' }).lean())!._id));
    const told = h.slack
      .callsTo('response_url')
      .map((c) => String(c.args.text))
      .join('\n');
    expect(told).toContain('There is no saved plan named nosuch-plan. Saved plans: competitor-scan.');

    // The App Home lists it, with how to use it and its runs.
    await openHomeTab(h.url, SIGNING_SECRET, REQUESTER);
    await eventually(
      () => JSON.stringify(h!.slack.homeView(REQUESTER)?.blocks ?? []).includes('competitor-scan'),
      5000,
      'the Home tab lists the saved plan',
    );
    const home = JSON.stringify(h.slack.homeView(REQUESTER)!.blocks);
    expect(home).toContain('/orchestrate use competitor-scan product=');
    expect(home).toContain('1 run');
  });
});
