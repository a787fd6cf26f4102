-- The audit's before/after values in the object format of Model+Codable.swift
-- (Manifests/lvsctl-objects-v1.schema.json): identities as the CLI's strings, enumerations as
-- strings. Rows written before this migration used the shape Swift synthesised:
--   service id  {"address":{"_0":"tcp","_1":"10.0.0.1","port":80}}  ->  "tcp/10.0.0.1:80"
--               {"fwmark":{"_0":7,"_1":"ipv6"}}                      ->  "fwmark/7/ipv6"
--   flags       9                                                    ->  ["persistent","sched1"]
--   real server {"address":"10.0.0.11","port":80}                    ->  "10.0.0.11:80"
--   forwarding 3, tunnel type 1, checksum 2, sync daemon state 1     ->  "dr", "gue", "remcsum", "master"
-- Keys keep their names and order, so a rewritten row is the text lvsctl writes today for the
-- same value. A value in no known old shape is left as it is.

CREATE TEMP TABLE m0006_value (old TEXT NOT NULL PRIMARY KEY, new TEXT);
INSERT OR IGNORE INTO m0006_value (old)
    SELECT before_json FROM audit WHERE before_json IS NOT NULL AND json_valid(before_json);
INSERT OR IGNORE INTO m0006_value (old)
    SELECT after_json FROM audit WHERE after_json IS NOT NULL AND json_valid(after_json);

-- Real servers, alone or in a deleted service's entry.
CREATE TEMP TABLE m0006_real_server (old TEXT NOT NULL PRIMARY KEY, new TEXT);
INSERT OR IGNORE INTO m0006_real_server (old)
    SELECT json_extract(old, '$.realServer') FROM m0006_value WHERE json_type(old, '$.realServer.id') = 'object';
INSERT OR IGNORE INTO m0006_real_server (old)
    SELECT e.value FROM m0006_value v, json_each(v.old, '$.entry.realServers') e
    WHERE json_type(v.old, '$.entry.realServers') = 'array' AND json_type(e.value, '$.id') = 'object';
UPDATE m0006_real_server SET new = json_set(old,
    '$.id',
        CASE WHEN instr(json_extract(old, '$.id.address'), ':') > 0
             THEN '[' || json_extract(old, '$.id.address') || ']'
             ELSE json_extract(old, '$.id.address') END
        || ':' || json_extract(old, '$.id.port'),
    '$.forwarding',
        CASE json_extract(old, '$.forwarding')
            WHEN 0 THEN 'nat' WHEN 1 THEN 'local' WHEN 2 THEN 'tunnel' WHEN 3 THEN 'dr'
            ELSE 'fwd-' || json_extract(old, '$.forwarding') END,
    '$.tunnel.type',
        CASE json_extract(old, '$.tunnel.type')
            WHEN 0 THEN 'ipip' WHEN 1 THEN 'gue' WHEN 2 THEN 'gre'
            ELSE 'type-' || json_extract(old, '$.tunnel.type') END,
    '$.tunnel.checksum',
        CASE json_extract(old, '$.tunnel.checksum')
            WHEN 0 THEN 'nocsum' WHEN 1 THEN 'csum' WHEN 2 THEN 'remcsum'
            ELSE 'flags-' || json_extract(old, '$.tunnel.checksum') END);

-- Services, alone or in a deleted service's entry.
CREATE TEMP TABLE m0006_service (old TEXT NOT NULL PRIMARY KEY, new TEXT);
INSERT OR IGNORE INTO m0006_service (old)
    SELECT json_extract(old, '$.service') FROM m0006_value WHERE json_type(old, '$.service.id') = 'object';
INSERT OR IGNORE INTO m0006_service (old)
    SELECT json_extract(old, '$.entry.service') FROM m0006_value WHERE json_type(old, '$.entry.service.id') = 'object';
UPDATE m0006_service SET new = json_set(old,
    '$.id',
        CASE WHEN json_type(old, '$.id.address') = 'object'
             THEN json_extract(old, '$.id.address._0') || '/'
                  || CASE WHEN instr(json_extract(old, '$.id.address._1'), ':') > 0
                          THEN '[' || json_extract(old, '$.id.address._1') || ']'
                          ELSE json_extract(old, '$.id.address._1') END
                  || ':' || json_extract(old, '$.id.address.port')
             ELSE 'fwmark/' || json_extract(old, '$.id.fwmark._0')
                  || CASE json_extract(old, '$.id.fwmark._1') WHEN 'ipv6' THEN '/ipv6' ELSE '' END END,
    '$.flags',
        json((SELECT json_group_array(name) FROM (
            SELECT 1 AS bit, 'persistent' AS name
            UNION ALL SELECT 4, 'onePacket'
            UNION ALL SELECT 8, 'sched1'
            UNION ALL SELECT 16, 'sched2'
            UNION ALL SELECT 32, 'sched3'
            UNION ALL SELECT json_extract(m0006_service.old, '$.flags') & ~61,
                             printf('0x%x', json_extract(m0006_service.old, '$.flags') & ~61))
            WHERE json_extract(m0006_service.old, '$.flags') & bit != 0)));

UPDATE m0006_value SET new = json_set(old, '$.realServer',
    json((SELECT new FROM m0006_real_server r WHERE r.old = json_extract(m0006_value.old, '$.realServer'))))
WHERE json_type(old, '$.realServer.id') = 'object';

UPDATE m0006_value SET new = json_set(old, '$.service',
    json((SELECT new FROM m0006_service s WHERE s.old = json_extract(m0006_value.old, '$.service'))))
WHERE json_type(old, '$.service.id') = 'object';

UPDATE m0006_value SET new = json_set(old,
    '$.entry.service',
        json((SELECT new FROM m0006_service s WHERE s.old = json_extract(m0006_value.old, '$.entry.service'))),
    '$.entry.realServers',
        json((SELECT json_group_array(json((SELECT r.new FROM m0006_real_server r WHERE r.old = e.value)))
              FROM json_each(m0006_value.old, '$.entry.realServers') e)))
WHERE json_type(old, '$.entry.service.id') = 'object';

UPDATE m0006_value SET new = json_set(old, '$.syncDaemon.state',
    CASE json_extract(old, '$.syncDaemon.state') WHEN 1 THEN 'master' WHEN 2 THEN 'backup'
        ELSE json_extract(old, '$.syncDaemon.state') END)
WHERE json_type(old, '$.syncDaemon.state') = 'integer';

UPDATE audit SET before_json = (SELECT new FROM m0006_value v WHERE v.old = audit.before_json)
WHERE before_json IN (SELECT old FROM m0006_value WHERE new IS NOT NULL);
UPDATE audit SET after_json = (SELECT new FROM m0006_value v WHERE v.old = audit.after_json)
WHERE after_json IN (SELECT old FROM m0006_value WHERE new IS NOT NULL);

DROP TABLE m0006_value;
DROP TABLE m0006_real_server;
DROP TABLE m0006_service;
