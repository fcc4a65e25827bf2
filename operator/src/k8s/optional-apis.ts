// APIs of other projects the operator uses only when a setting turns them on: Kueue's Workloads
// (LATHE_KUEUE) and the Gateway API's HTTPRoutes (LATHE_GATEWAY_API). Without the API its informer
// would never sync and the operator would sit unready without a word, so start-up checks that the
// API server serves it and otherwise stops with one line that says what to do.
import { statusCode } from '../client/errors.js';
import type { KubeClient, Resource } from '../client/kube-client.js';
import { CONFIG_ENV, type OperatorConfig } from '../config/operator-config.js';
import { RESOURCES } from './resources.js';

export interface OptionalApi {
  /** The resource the operator watches when the setting is on. */
  resource: Resource;
  /** What to do when the cluster lacks it. */
  remedy: string;
}

/** Keyed by the setting that turns each on. */
export const OPTIONAL_APIS = {
  kueue: {
    resource: RESOURCES.workloads,
    remedy: "install Kueue (v0.15 or later) first, or turn Kueue support off (LATHE_KUEUE=false; the chart's kueue.enabled=false)",
  },
  gatewayApi: {
    resource: RESOURCES.httpRoutes,
    remedy:
      "install the Gateway API CRDs (v1.0 or later, standard channel) first, or turn HTTPRoute support off (LATHE_GATEWAY_API=false; the chart's gatewayApi.enabled=false)",
  },
} satisfies Partial<Record<keyof OperatorConfig, OptionalApi>>;

/** Fails unless the API server serves the resource of every optional API whose setting is on. */
export async function requireOptionalApis(client: Pick<KubeClient, 'get'>, config: Pick<OperatorConfig, keyof typeof OPTIONAL_APIS>): Promise<void> {
  for (const [setting, api] of Object.entries(OPTIONAL_APIS) as [keyof typeof OPTIONAL_APIS, OptionalApi][]) {
    if (config[setting]) await requireServed(client, CONFIG_ENV[setting], api);
  }
}

async function requireServed(client: Pick<KubeClient, 'get'>, env: string, { resource, remedy }: OptionalApi): Promise<void> {
  const groupVersion = `${resource.group}/${resource.version}`;
  let served = false;
  try {
    const list = await client.get<{ resources?: { name: string }[] }>(`/apis/${groupVersion}`);
    served = (list.resources ?? []).some((r) => r.name === resource.plural);
  } catch (err) {
    // 404: the group is not installed. Anything else (403, unreachable) is not "not installed".
    if (statusCode(err) !== 404) throw err;
  }
  if (!served) throw new Error(`${env}=true, but the API server does not serve ${groupVersion} ${resource.plural}: ${remedy}`);
}
