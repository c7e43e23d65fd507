import { ClassSerializerInterceptor, INestApplication, LogLevel, ValidationPipe } from '@nestjs/common';
import { HttpAdapterHost, NestFactory, Reflector } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ApiConfig } from '@bulwark/config';
import { AppModule } from './app.module';
import { BodyParserErrorFilter } from './common/body-parser-error.filter';

/** Builds the HTTP app (shared by main.ts and the tests), without listening. */
export async function createApiApp(config: ApiConfig, logger: LogLevel[] | false = ['error', 'warn', 'log']): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bodyParser: false, logger });
  app.useBodyParser('json', { limit: config.bodyLimitBytes });
  app.useGlobalFilters(new BodyParserErrorFilter(app.get(HttpAdapterHost).httpAdapter, config.bodyLimitBytes));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // Numbers must arrive as JSON numbers: "2" for epochs is a client bug, not something to coerce.
      transformOptions: { enableImplicitConversion: false },
    }),
  );
  app.useGlobalInterceptors(new ClassSerializerInterceptor(app.get(Reflector)));

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Bulwark')
      .setDescription('Adversarial training and robustness evaluation jobs')
      .setVersion(process.env.npm_package_version ?? '0.1.0')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
