import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadMigrateConfig } from '@bulwark/config';
import { dataSourceOptions } from './data-source-options';

/** For the TypeORM CLI (`typeorm migration:show -d dist/libs/database/src/data-source.js`). */
export default new DataSource(dataSourceOptions(loadMigrateConfig().databaseUrl, 'bulwark-cli'));
