/**
 * `GET /metadata/endpoints`: ARM's anonymous cloud description, which `az cloud register` reads to fill in
 * the endpoints it was not given (login endpoint, token audiences, Graph). 2015-01-01 answers one cloud
 * object; 2019-05-01 and later a list of clouds.
 */
import type { ArmCall, ArmContext } from './context';
import { ArmError, type ArmResponse } from './errors';

export function isMetadataCall(call: ArmCall): boolean {
  return call.method === 'GET' && call.path.toLowerCase() === '/metadata/endpoints';
}

export function metadataEndpoints(ctx: ArmContext, call: ArmCall): ArmResponse {
  const api = call.query['api-version'];
  if (!api) throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  if (!ctx.loginEndpoint) throw new ArmError(404, 'NotFound', 'This emulator was started without an Entra login endpoint to describe.');
  const login = ctx.loginEndpoint.replace(/\/?$/, '/');
  const audiences = ['https://management.core.windows.net/', 'https://management.azure.com/'];
  if (api === '2015-01-01') {
    return {
      status: 200,
      body: {
        galleryEndpoint: 'https://gallery.azure.com/',
        graphEndpoint: 'https://graph.windows.net/',
        portalEndpoint: 'https://portal.azure.com/',
        authentication: { loginEndpoint: login, audiences },
      },
    };
  }
  if (api < '2019-05-01') throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${api}' is invalid. The supported versions are '2022-09-01,2020-06-01,2019-05-01,2015-01-01'.`);
  return {
    status: 200,
    body: [
      {
        name: 'AzureCloud',
        resourceManager: ctx.baseUrl.replace(/\/?$/, '/'),
        authentication: { loginEndpoint: login, audiences, tenant: 'common', identityProvider: 'AAD' },
        graph: 'https://graph.windows.net/',
        graphAudience: 'https://graph.windows.net/',
        microsoftGraphResourceId: 'https://graph.microsoft.com/',
        portal: 'https://portal.azure.com',
        gallery: 'https://gallery.azure.com/',
        suffixes: {},
      },
    ],
  };
}
