import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { ApiKeyRepository, type ApiKeyRole } from '@bulwark/database';
import { AuthenticatedRequest, PUBLIC_ROUTE, REQUIRED_ROLE } from './caller.decorator';

const HOW_TO_GET_A_KEY =
  "send an API key as 'Authorization: Bearer <key>'; an operator creates one with " +
  '`npm run -s keys -- create --tenant NAME --role member`, and an admin of a tenant with POST /admin/keys';

/**
 * Every route but the @Public() ones needs `Authorization: Bearer <key>`. A key in a header, never
 * a cookie: a browser never adds it on its own, so a cross-origin page cannot act with a user's key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(header.trim());
    if (!match) {
      http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedException(header === undefined ? `missing API key: ${HOW_TO_GET_A_KEY}` : `malformed Authorization header: ${HOW_TO_GET_A_KEY}`);
    }
    const caller = await this.keys.authenticate(match[1]);
    if (!caller) {
      http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new UnauthorizedException(`unknown or revoked API key: ${HOW_TO_GET_A_KEY}`);
    }
    req.caller = caller;
    const role = this.reflector.getAllAndOverride<ApiKeyRole | undefined>(REQUIRED_ROLE, targets);
    if (role && caller.role !== role) throw new ForbiddenException(`this needs a key of role ${role}; yours is ${caller.role}`);
    return true;
  }
}
