/** The test world's env (what `npm run demo` hands the wid-bot process) is a valid configuration. */
import { ConfigError, describeConfig, loadConfig } from '../../../src/config/env';
import { testRedisUrl } from '../../support/redis';
import { startWorld, WORLD, type World } from '../../emulators/world';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('the test world configuration', () => {
  it('loads, for every role, and its description carries no secret', () => {
    for (const role of ['all', 'web', 'worker']) {
      const config = loadConfig({ ...world.env, REDIS_URL: testRedisUrl(), HOME: world.files.dir }, { role });
      expect(config.role).toBe(role);
      expect(config.slack.apiUrl).toBe(world.urls.slackApi.endsWith('/') ? world.urls.slackApi : `${world.urls.slackApi}/`);
      expect(config.azure.resourceManagerUrl).toBe(world.urls.arm.replace(/\/+$/, ''));
      expect(config.kube.kubeconfig).toBe(world.files.kubeconfig);
      expect(config.policy.policy.clusters.map((c) => c.name)).toEqual([WORLD.clusterName]);
      const text = JSON.stringify(describeConfig(config));
      for (const secret of [WORLD.botToken, WORLD.signingSecret, WORLD.botClientSecret]) expect(text).not.toContain(secret);
    }
  });

  it('without REDIS_URL it names just that', () => {
    try {
      loadConfig({ ...world.env, HOME: world.files.dir });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
    }
  });
});
