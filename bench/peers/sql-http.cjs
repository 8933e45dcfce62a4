// The limit of the database: the page of the `Customers` contract query (first: N, as an
// analyst sees it) built as JSON by ONE hand-written SQL statement, served over bare http.
// Same semantics as the gateway: least compliant status across billing partners, the only
// billing partner's acceptance (active, else latest), relationships with their partner; the
// gateway's order (the name ignoring case, in byte order, then id) and cursors (that sort name, id).
const http = require('node:http');
const { Pool } = require('pg');

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const PAGE_SQL = `
with page as (
  select c.id, c.company_name, c.country, c.cloud, (lower(c.company_name) collate "C") as sort_name
    from customers c order by (lower(c.company_name) collate "C"), c.id limit $1 + 1
), shown as (select * from page order by sort_name, id limit $1),
rows as (
  select s.*,
    '[' || to_json(s.sort_name)::text || ',' || to_json(s.id::text)::text || ']' as cursor_json,
    case when s.cloud <> 'PUBLIC' then 'NOT_APPLICABLE' else (array['MISSING','WITHDRAWN','OUTDATED','CONFIRMED'])[1 + coalesce((
      select min(case
               when a.id is null then case when exists (select 1 from acceptances w where w.customer_id = s.id and w.partner_id = r.partner_id and w.status = 'WITHDRAWN') then 1 else 0 end
               when t.version_rank < cur.rank then 2 else 3 end)
        from customer_relationships r
        left join acceptances a on a.customer_id = s.id and a.partner_id = r.partner_id and a.status = 'ACTIVE'
        left join agreement_templates t on t.template_id = a.template_id
       where r.customer_id = s.id), 0)] end as status,
    (select json_build_object('id', a.id, 'dateAgreed', a.date_agreed, 'agreement', json_build_object('templateId', t.template_id, 'version', t.version))
       from customer_relationships r
       join acceptances a on a.customer_id = s.id and a.partner_id = r.partner_id
       join agreement_templates t on t.template_id = a.template_id
      where r.customer_id = s.id and (select count(*) from customer_relationships r2 where r2.customer_id = s.id) = 1
      order by (a.status = 'ACTIVE') desc, a.recorded_at desc, a.id limit 1) as acceptance,
    (select coalesce(json_agg(json_build_object('partner', json_build_object('id', p.id, 'name', p.name)) order by r.created_at, r.id), '[]')
       from customer_relationships r join partners p on p.id = r.partner_id where r.customer_id = s.id) as relationships
  from shown s
  cross join lateral (select coalesce(
      (select max(x.version_rank) from agreement_templates x where x.type = 'MICROSOFT_CLOUD_AGREEMENT' and x.country = s.country and x.effective_from <= current_date),
      (select max(x.version_rank) from agreement_templates x where x.type = 'MICROSOFT_CLOUD_AGREEMENT' and x.country = 'GLOBAL' and x.effective_from <= current_date)) as rank) cur
)
select json_build_object('data', json_build_object('customers', json_build_object(
  'totalCount', (select count(*) from customers),
  'pageInfo', json_build_object(
     'hasNextPage', (select count(*) from page) > $1,
     'endCursor', (select rtrim(translate(encode(convert_to(x.cursor_json, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=') from rows x order by x.sort_name desc, x.id desc limit 1)),
  'edges', coalesce((select json_agg(json_build_object(
     'cursor', rtrim(translate(encode(convert_to(x.cursor_json, 'UTF8'), 'base64'), E'+/\\n', '-_'), '='),
     'node', json_build_object('id', x.id, 'companyName', x.company_name, 'country', x.country, 'complianceStatus', x.status,
                               'acceptance', x.acceptance, 'relationships', x.relationships)) order by x.sort_name, x.id) from rows x), '[]')
)))::text as body`;

const first = Number(process.env.PAGE_SIZE ?? 50);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    try {
      const { rows } = await pool.query({ name: 'customers_page', text: PAGE_SQL, values: [first] });
      const body = Buffer.from(rows[0].body);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    } catch (err) {
      res.writeHead(500);
      res.end(String(err));
    }
  });
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
