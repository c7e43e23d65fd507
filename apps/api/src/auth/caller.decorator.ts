import { ExecutionContext, SetMetadata, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import type { ApiKeyRole, Caller } from '@bulwark/database';

export type { Caller } from '@bulwark/database';

/** What ApiKeyGuard attaches to a request it let through. */
export interface AuthenticatedRequest extends Request {
  caller?: Caller;
}

export const PUBLIC_ROUTE = 'bulwark:public';
export const REQUIRED_ROLE = 'bulwark:role';

/** A route anyone may call without a key (/health: it holds no tenant's data). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** A route only keys of this role may call (every other authenticated route is open to members). */
export const RequireRole = (role: ApiKeyRole) => SetMetadata(REQUIRED_ROLE, role);

/** The caller of an authenticated route, from its API key; tenant scoping starts here. */
export const CurrentCaller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  // Cannot happen on a route without @Public(): the guard refuses a request it did not authenticate.
  if (!caller) throw new Error('internal: CurrentCaller on a route ApiKeyGuard did not authenticate');
  return caller;
});
