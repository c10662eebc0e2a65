/// <reference lib="dom" />
/**
 * The websocket bridge example, end to end in a real headless browser: the bridge forwards one
 * tracker's change feed; a second tracker drives a cook of casts; the page must end showing the
 * cook's final counts and exact cost. Needs Chromium (Debian's `chromium`; .ci/run installs it);
 * where none is found the test says so loudly and is skipped, unless GENLEDGER_REQUIRE_BROWSER=1
 * (as in CI), where a missing browser fails.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createTracker } from 'genledger';
import { memoryRepository } from 'genledger/memory';
import { startBridge, type Bridge } from '../examples/websocket-bridge/bridge.js';

const executable = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (candidate): candidate is string => Boolean(candidate && existsSync(candidate)),
);
if (!executable) {
  const message = '[genledger] THE BROWSER TEST DID NOT RUN: no Chromium found (set CHROMIUM_PATH, or apt-get install chromium)';
  if (process.env.GENLEDGER_REQUIRE_BROWSER === '1') throw new Error(message);
  console.warn(`\n${'!'.repeat(100)}\n${message}\n${'!'.repeat(100)}\n`);
}

describe.skipIf(!executable)(`websocket bridge in headless Chromium${executable ? '' : ' (skipped: no Chromium on this machine)'}`, () => {
  let browser: Browser;
  let bridge: Bridge;
  const repository = memoryRepository();

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: executable!,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    bridge = await startBridge({ tracker: createTracker({ repository }) });
  });

  afterAll(async () => {
    await bridge?.close();
    await browser?.close();
  });

  it('the page ends showing the final counts and cost of a cook driven by another tracker', async () => {
    const worker = createTracker({ repository });
    const cook = await worker.startCook({ collectionId: 'moonlit-cats', initiatorAccountId: 'account-ada', targetSupply: 4 });
    const page = await browser.newPage();
    await page.goto(`${bridge.url}?accountId=account-ada&cookId=${cook.id}`);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'live');

    for (let piece = 0; piece < 5; piece += 1) {
      const cast = await worker.startCast({ spellId: 'spell-cat', initiatorAccountId: 'account-ada', cookId: cook.id, totalSteps: 2 });
      for (let step = 0; step < 2; step += 1) {
        const generation = await worker.recordGeneration({ masterAccountId: 'account-ada', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', castId: cast.id });
        await worker.reportProgress(generation.id, { progress: 0.5 });
        const fails = piece === 2 && step === 1;
        await worker.completeGeneration(generation.id, { status: fails ? 'failed' : 'success', costUsd: '0.0185', pointsSpent: 19 });
        if (fails) break;
      }
    }
    const stored = (await worker.getCook(cook.id))!;
    expect(stored).toMatchObject({ status: 'completed', generatedCount: 4, failedCount: 1 });

    await page.waitForSelector('#cook[data-status="completed"]', { timeout: 15_000 });
    const shown = await page.evaluate(() =>
      Object.fromEntries(['cook-status', 'cook-done', 'cook-target', 'cook-failed', 'cook-inflight', 'cook-points', 'cook-cost'].map((id) => [id, document.getElementById(id)!.textContent])),
    );
    expect(shown).toEqual({
      'cook-status': 'completed',
      'cook-done': '4',
      'cook-target': '4',
      'cook-failed': '1',
      'cook-inflight': '0',
      'cook-points': String(stored.pointsSpent),
      'cook-cost': stored.costUsd,
    });
    expect(await page.locator('.cast').count()).toBe(5);
    expect(await page.locator('.cast[data-status="failed"]').count()).toBe(1);
    await page.close();
  }, 60_000);
});
