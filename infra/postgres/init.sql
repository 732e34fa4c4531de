-- One database per service (each service owns its store; none reads another's tables).
-- Run once by the postgres image on first start (/docker-entrypoint-initdb.d).
CREATE DATABASE intake;
CREATE DATABASE ledger;
CREATE DATABASE notify;
CREATE DATABASE audit;
CREATE DATABASE gateway;
